SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND (SELECT ex.length 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_1)s::INTEGER) = %(param_2)s AND (%(param_3)s::VARCHAR || replace(replace((SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_4)s::INTEGER), %(replace_1)s::VARCHAR, %(replace_2)s::VARCHAR), %(replace_3)s::VARCHAR, %(replace_4)s::VARCHAR) || %(param_5)s::VARCHAR) NOT LIKE %(param_6)s::VARCHAR ESCAPE '\' GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'param_1': 1, 'param_2': 3.0, 'param_3': ' ', 'param_4': 1, 'replace_1': '(', 'replace_2': ' ', 'replace_3': ')', 'replace_4': ' ', 'param_5': ' ', 'param_6': '% noun %'}
-- and the neurons per group:
SELECT model.name AS model, lay.layer AS layer, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer.index AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id = %(model_id_1)s::INTEGER AND lay.site = %(site_1)s::VARCHAR GROUP BY model.name, lay.layer ORDER BY model.name COLLATE "C", lay.layer
-- parameters: {'model_id_1': 3, 'site_1': 'mlp'}
