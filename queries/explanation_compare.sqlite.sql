SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, sum(CASE WHEN ((SELECT ex.iou 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) >= ?) THEN ? ELSE ? END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'param_1': 1, 'param_2': 0, 'param_3': 0.3, 'param_4': 1, 'param_5': 0, 'model_id_1': [3, 1], 'site_1': 'mlp'}
