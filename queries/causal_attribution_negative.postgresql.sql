SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = %(set_id_1)s::INTEGER AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) < %(param_3)s ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_4)s::INTEGER
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'set_id_1': 451, 'unit_2': 256, 'model_id_1': 2, 'site_1': 'mlp', 'param_3': -0.800000011920929, 'param_4': 101}
-- score sets read:
-- attribution(negation) of gpt2: run 4, method row 14 {"baseline":"zero","batch_sentences":16,"probe_sentences":300,"rule":"midpoint","seed":0,"sentences":64,"steps":20,"target":"auto"}
